import XCTest
import Tensor

final class BLASRuntimeTests: XCTestCase {
    func testCoreNameIsKnown() {
        XCTAssertFalse(BLASRuntime.coreName.isEmpty)
        XCTAssertNotEqual(BLASRuntime.coreName, "unknown")
    }
}
