import XCTest
import Lang

final class LangSmokeTests: XCTestCase {
    func testModuleLoads() { XCTAssertTrue(true) }
}
