import XCTest
import Jupyter

final class JupyterSmokeTests: XCTestCase {
    func testModuleLoads() { XCTAssertTrue(true) }
}
