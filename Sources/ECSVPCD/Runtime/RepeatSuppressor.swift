import Synchronization

/// Tells whether a report differs from the last one, so that a condition lasting many cycles (a bad line in the
/// agent's config file, for one) is logged when it starts or changes, not on every cycle.
final class RepeatSuppressor: Sendable {
    private let last = Mutex<String?>(nil)

    /// True when `report` differs from the previous one (nil: the condition is gone); remembers it.
    func isNew(_ report: String?) -> Bool {
        last.withLock { last in
            defer { last = report }
            return report != last
        }
    }
}
