// Lists and records keep their elements in a copy-on-write box that also remembers how deep the
// value nests and about how many bytes it takes. Limits then cost O(1) per change, an append to a
// list only one variable holds is amortised O(1), and freeing a value nested a million deep is a
// loop, not a recursion that would overflow the stack.

import Foundation
import Synchronization

/// Counters that show whether values are copied when they need not be (tests and benchmarks read them).
public enum ValueStorageStatistics {
    static let copyCounter = Atomic<Int>(0)

    /// How many times a list's or record's elements were copied because they were shared when changed.
    public static var copies: Int { copyCounter.load(ordering: .relaxed) }
}

/// `a + b`, or `Int.max` when that overflows: footprints of shared parts add up fast (`x = [x, x]`).
@inline(__always)
func saturatingAdd(_ a: Int, _ b: Int) -> Int {
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? Int.max : sum
}

extension Value {
    /// The bytes one slot of a list takes.
    public static let slotBytes = MemoryLayout<Value>.stride

    /// About how many bytes the value takes, counting a part as often as it is used; the memory
    /// limit compares against this, and it also bounds how long printing or comparing it can take.
    public var footprint: Int {
        switch self {
        case .string(let text): return Value.slotBytes + text.utf8.count
        case .list(let list): return saturatingAdd(Value.slotBytes, list.storage.footprint)
        case .record(let record): return saturatingAdd(Value.slotBytes, record.storage.footprint)
        case .host(let object): return saturatingAdd(Value.slotBytes, object.footprint)
        default: return Value.slotBytes
        }
    }

    /// True for values that may hold others (lists, records, closures, host objects), whose freeing may cascade.
    var holdsReferences: Bool {
        switch self {
        case .list, .record, .host, .function(.user): return true
        default: return false
        }
    }

    /// How many lists and records nest in this value: 0 for a number, 1 for `[1, 2]`, 2 for `[[1]]`.
    public var nestingDepth: Int {
        switch self {
        case .list(let list): return list.storage.depth
        case .record(let record): return record.storage.depth
        case .host(let object): return object.nestingDepth
        default: return 0
        }
    }
}

/// Frees nested lists and records one level at a time. A storage with nested containers hands
/// its elements to a shared work list instead of releasing them on the spot; whoever started
/// draining the list releases them in a loop, and each nested storage's deinit only adds its own
/// elements to the list. So freeing a value nested a million deep never recurses, on any thread.
enum DeferredRelease {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var pending: [Value] = []
    nonisolated(unsafe) private static var draining = false

    /// Takes `items` (leaving them empty) and frees them, or queues them when a drain is under way.
    /// No value is ever freed while the lock is held: a freed value may call back in here.
    static func release(_ items: inout [Value]) {
        lock.lock()
        if draining {
            pending.append(contentsOf: items)
            lock.unlock()
            items.removeAll()  // The queue holds them now; these are not the last references.
            return
        }
        draining = true
        lock.unlock()
        var work: [Value] = []
        swap(&work, &items)
        while true {
            // Each element freed here may queue its own elements (through a nested deinit) and return.
            while !work.isEmpty { work.removeLast() }
            lock.lock()
            if pending.isEmpty {
                draining = false
                lock.unlock()
                return
            }
            swap(&work, &pending)  // `work` is empty: only buffers change hands, nothing is freed.
            lock.unlock()
        }
    }
}

/// The depth of a container of `elements`, and how many elements reach it.
private func depthAndDeepest<S: Sequence>(of elements: S) -> (depth: Int, deepest: Int) where S.Element == Value {
    var childDepth = 0, deepest = 0
    for element in elements {
        let depth = element.nestingDepth
        if depth > childDepth { (childDepth, deepest) = (depth, 1) } else if depth == childDepth { deepest += 1 }
    }
    return (childDepth + 1, deepest)
}

// MARK: - Lists

/// The elements of a list value and what is known about them.
final class ListStorage {
    var items: [Value]
    /// 1 + the deepest element's nesting depth.
    var depth: Int
    /// How many elements are exactly one level shallower than `depth`.
    var deepest: Int
    /// The sum of the elements' footprints.
    var footprint: Int

    init(_ items: [Value]) {
        self.items = items
        (depth, deepest) = depthAndDeepest(of: items)
        footprint = items.reduce(0) { saturatingAdd($0, $1.footprint) }
    }

    init(copying other: ListStorage) {
        items = other.items
        depth = other.depth
        deepest = other.deepest
        footprint = other.footprint
    }

    deinit {
        if depth > 1 { DeferredRelease.release(&items) }
    }

    /// Updates the counts after `old` was replaced by `new` in `items` (either may be nil).
    func account(removing old: Value?, adding new: Value?) {
        if let old {
            footprint -= old.footprint
            if depth > 1, old.nestingDepth + 1 == depth { deepest -= 1 }
        }
        if let new {
            footprint = saturatingAdd(footprint, new.footprint)
            let childDepth = new.nestingDepth + 1
            if childDepth > depth { (depth, deepest) = (childDepth, 1) } else if childDepth == depth { deepest += 1 }
        }
        if depth > 1, deepest <= 0 { (depth, deepest) = depthAndDeepest(of: items) }
    }
}

/// A list's elements: an array with value semantics that copies only when a shared list changes.
public struct ValueList: RandomAccessCollection, MutableCollection, RangeReplaceableCollection, ExpressibleByArrayLiteral, Equatable {
    var storage: ListStorage

    /// An empty list.
    public init() { storage = ListStorage([]) }

    /// A list of `elements`, in order.
    public init<S: Sequence>(_ elements: S) where S.Element == Value { storage = ListStorage(Array(elements)) }

    public init(arrayLiteral elements: Value...) { storage = ListStorage(elements) }

    /// The elements as a Swift array (shared, not copied).
    public var array: [Value] { storage.items }

    public var startIndex: Int { 0 }
    public var endIndex: Int { storage.items.count }
    public var count: Int { storage.items.count }

    public subscript(position: Int) -> Value {
        get { storage.items[position] }
        set {
            makeUnique()
            let old = storage.items[position]
            storage.items[position] = newValue
            storage.account(removing: old, adding: newValue)
        }
    }

    public mutating func replaceSubrange<C: Collection>(_ subrange: Range<Int>, with newElements: C) where C.Element == Value {
        makeUnique()
        var removedFootprint = 0, touchesDeepest = false
        for element in storage.items[subrange] {
            removedFootprint = saturatingAdd(removedFootprint, element.footprint)
            if storage.depth > 1, element.nestingDepth + 1 == storage.depth { touchesDeepest = true }
        }
        storage.items.replaceSubrange(subrange, with: newElements)
        storage.footprint -= removedFootprint
        if touchesDeepest {
            storage.footprint = newElements.reduce(storage.footprint) { saturatingAdd($0, $1.footprint) }
            (storage.depth, storage.deepest) = depthAndDeepest(of: storage.items)
        } else {
            for element in newElements { storage.account(removing: nil, adding: element) }
        }
    }

    /// Adds `element` at the end: amortised O(1) when no other value shares this list.
    public mutating func append(_ element: Value) {
        makeUnique()
        storage.items.append(element)
        storage.account(removing: nil, adding: element)
    }

    public mutating func reserveCapacity(_ capacity: Int) {
        makeUnique()
        storage.items.reserveCapacity(capacity)
    }

    /// Takes the element at `position` out (leaving nil), so that changing it does not copy it.
    mutating func take(at position: Int) -> Value {
        makeUnique()
        let element = storage.items[position]
        storage.items[position] = .null
        storage.account(removing: element, adding: .null)
        return element
    }

    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) {
            storage = ListStorage(copying: storage)
            ValueStorageStatistics.copyCounter.add(1, ordering: .relaxed)
        }
    }

    public static func == (left: ValueList, right: ValueList) -> Bool {
        left.storage === right.storage || left.storage.items == right.storage.items
    }
}

extension Value {
    /// A list value of `items`.
    public static func list(_ items: [Value]) -> Value { .list(ValueList(items)) }
}

// MARK: - Records

/// The entries of a record value and what is known about them.
final class RecordStorage {
    var keys: [String]
    var table: [String: Value]
    var depth: Int
    var deepest: Int
    var footprint: Int

    init() {
        keys = []
        table = [:]
        depth = 1
        deepest = 0
        footprint = 0
    }

    init(copying other: RecordStorage) {
        keys = other.keys
        table = other.table
        depth = other.depth
        deepest = other.deepest
        footprint = other.footprint
    }

    deinit {
        if depth > 1 {
            var values = Array(table.values)
            table.removeAll()
            DeferredRelease.release(&values)
        }
    }

    /// What one entry adds to the footprint: its key, its value and a slot of the hash table.
    static func entryFootprint(_ key: String, _ value: Value) -> Int {
        saturatingAdd(key.utf8.count + 2 * Value.slotBytes, value.footprint)
    }

    /// Updates the counts after the value of `key` changed from `old` to `new` in `table` (either may be nil).
    func account(_ key: String, removing old: Value?, adding new: Value?) {
        if let old {
            footprint -= RecordStorage.entryFootprint(key, old)
            if depth > 1, old.nestingDepth + 1 == depth { deepest -= 1 }
        }
        if let new {
            footprint = saturatingAdd(footprint, RecordStorage.entryFootprint(key, new))
            let childDepth = new.nestingDepth + 1
            if childDepth > depth { (depth, deepest) = (childDepth, 1) } else if childDepth == depth { deepest += 1 }
        }
        if depth > 1, deepest <= 0 { (depth, deepest) = depthAndDeepest(of: table.values) }
    }
}

/// A record: string keys in insertion order, each with a value (`["name": "svamp", "size": 700]`).
public struct Record: Equatable {
    var storage: RecordStorage

    /// An empty record.
    public init() { storage = RecordStorage() }

    /// Builds a record from ordered pairs; a repeated key keeps its last value at its first place.
    public init(_ pairs: [(String, Value)]) {
        storage = RecordStorage()
        for (key, value) in pairs { self[key] = value }
    }

    /// The keys in insertion order.
    public var keys: [String] { storage.keys }

    /// The value for `key`; setting nil removes the key.
    public subscript(key: String) -> Value? {
        get { storage.table[key] }
        set {
            makeUnique()
            let old: Value?
            if let newValue { old = storage.table.updateValue(newValue, forKey: key) } else { old = storage.table.removeValue(forKey: key) }
            if old == nil, newValue != nil { storage.keys.append(key) }
            if old != nil, newValue == nil { storage.keys.removeAll { $0 == key } }
            storage.account(key, removing: old, adding: newValue)
        }
    }

    /// Takes the value of `key` out (leaving nil in its place), so that changing it does not copy it.
    mutating func take(_ key: String) -> Value? {
        guard storage.table[key] != nil else { return nil }
        makeUnique()
        guard let old = storage.table.updateValue(.null, forKey: key) else { return nil }
        storage.account(key, removing: old, adding: .null)
        return old
    }

    /// The values in key order.
    public var values: [Value] { storage.keys.compactMap { storage.table[$0] } }
    /// The number of keys.
    public var count: Int { storage.keys.count }

    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) {
            storage = RecordStorage(copying: storage)
            ValueStorageStatistics.copyCounter.add(1, ordering: .relaxed)
        }
    }

    public static func == (left: Record, right: Record) -> Bool {
        left.storage === right.storage || (left.storage.keys == right.storage.keys && left.storage.table == right.storage.table)
    }
}
