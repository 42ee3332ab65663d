import XCTest
import Distill

final class DistillSmokeTests: XCTestCase {
    func testModuleLoads() { XCTAssertTrue(true) }
}
