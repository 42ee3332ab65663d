import XCTest
import NN

final class NNSmokeTests: XCTestCase {
    func testModuleLoads() { XCTAssertTrue(true) }
}
