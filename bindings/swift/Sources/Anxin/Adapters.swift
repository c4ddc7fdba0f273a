// Hand-written adapters shipped with the generated bindings (Anxin.swift is
// copied beside this file by build-xcframework.sh): listeners on a dispatch
// queue the app chooses, and live lists as AsyncStreams. Everything here
// calls the generated API only.
import Foundation

/// A crisis listener whose calls run on `queue` (e.g. `.main`).
public final class CrisisListenerOnQueue: CrisisListener {
    private let inner: CrisisListener
    private let queue: DispatchQueue
    public init(_ inner: CrisisListener, on queue: DispatchQueue) { self.inner = inner; self.queue = queue }
    public func onCrisis(alert: CrisisAlert) { let inner = self.inner; queue.async { inner.onCrisis(alert: alert) } }
}

/// A store listener whose calls run on `queue`.
public final class StoreChangeListenerOnQueue: StoreChangeListener {
    private let inner: StoreChangeListener
    private let queue: DispatchQueue
    public init(_ inner: StoreChangeListener, on queue: DispatchQueue) { self.inner = inner; self.queue = queue }
    public func onChange(change: StoreChange) { let inner = self.inner; queue.async { inner.onChange(change: change) } }
}

/// A conflict listener whose calls run on `queue`.
public final class ConflictListenerOnQueue: ConflictListener {
    private let inner: ConflictListener
    private let queue: DispatchQueue
    public init(_ inner: ConflictListener, on queue: DispatchQueue) { self.inner = inner; self.queue = queue }
    public func onConflict(conflict: OrderConflict) { let inner = self.inner; queue.async { inner.onConflict(conflict: conflict) } }
}

private final class Signal: StoreChangeListener {
    let matters: (StoreChange) -> Bool
    let fire: () -> Void
    init(_ matters: @escaping (StoreChange) -> Bool, _ fire: @escaping () -> Void) { self.matters = matters; self.fire = fire }
    func onChange(change: StoreChange) { if matters(change) { fire() } }
}

extension AnxinStore {
    /// A live list: the current value of `read`, then a fresh one after every change (a call
    /// on this device, a sync, a bundle) to a document `matters` accepts. Ending the
    /// iteration stops listening.
    public func liveQuery<T: Sendable>(
        matters: @escaping (StoreChange) -> Bool,
        read: @escaping (AnxinStore) async throws -> T
    ) -> AsyncThrowingStream<T, Error> {
        AsyncThrowingStream(bufferingPolicy: .bufferingNewest(1)) { continuation in
            let (signals, signal) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
            let handle = try? self.addStoreListener(listener: Signal(matters) { signal.yield() })
            let task = Task {
                do {
                    continuation.yield(try await read(self))
                    for await _ in signals { continuation.yield(try await read(self)) }
                } catch { continuation.finish(throwing: error) }
            }
            continuation.onTermination = { _ in
                task.cancel()
                signal.finish()
                handle?.unregister()
            }
        }
    }

    /// The acting worker's tasks, live.
    public func myTasksStream() -> AsyncThrowingStream<[QueueItem], Error> {
        liveQuery(matters: { $0.kind == .order }) { try await $0.orders().myTasksAsync() }
    }

    /// What is due on cases (of `workerId`, or all), live.
    public func casesDueStream(workerId: String? = nil, days: UInt32 = 7) -> AsyncThrowingStream<[DueItem], Error> {
        liveQuery(matters: { $0.kind == .caseFile }) { try await $0.cases().dueAsync(workerId: workerId, days: days) }
    }

    /// A grid's households in triage order, live.
    public func householdsStream(gridId: String, limit: UInt32 = 500) -> AsyncThrowingStream<[HouseholdInfo], Error> {
        liveQuery(matters: { $0.kind == .household || $0.kind == .order }) { try await $0.households().listAsync(gridId: gridId, limit: limit, offset: 0) }
    }
}
