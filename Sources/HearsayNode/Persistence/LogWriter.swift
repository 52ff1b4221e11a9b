import HearsayCore
import NIOCore
import NIOPosix
import Synchronization

/// The node's disk: a thread of its own that writes the metadata log (and the identity
/// file), so that a disk that takes 200 ms per sync never holds up the event loop that
/// answers probes, and that commits local writes in groups.
///
/// Group commit: every write queued while the thread is busy goes into its next batch,
/// which costs one `write` and one `fdatasync` however many writes it holds. Each local
/// write's completion runs on the event loop once the batch that holds it is durable,
/// in the order the writes were queued, so the node makes them visible and answers them
/// in that order. Versions from peers ride in the same batches; they are acknowledged
/// to nobody, and a batch that fails keeps them queued for the next.
final class LogWriter: Sendable {
    /// What a local write learns: durable, or why not.
    typealias Completion = @Sendable (Result<Void, PersistenceError>) -> Void

    private enum Job: Sendable {
        case remote(ContextMetadata)
        case local(ContextMetadata, Completion)
        case compact(MetadataLimits, @Sendable (Result<(before: Int, after: Int), PersistenceError>) -> Void)
        case mark(@Sendable (PersistenceError?) -> Void)
        case identity(NodeIdentity, DataDirectory.IdentityFile, @Sendable (PersistenceError?) -> Void)
        case tags(MemberTags, DataDirectory.TagsFile, @Sendable (PersistenceError?) -> Void)
    }

    private struct Queue: Sendable {
        var jobs: [Job] = []
        var draining = false
        var closed = false
    }

    /// The log itself, which only the writer's thread touches once it is handed over.
    private final class Owned: @unchecked Sendable {
        // @unchecked: `log` is used by `drain` alone, and `drain` runs on the pool's one
        // thread with `Queue.draining` set, so never twice at once; the event loop that
        // made the log gives it up in `LogWriter.init` and never reads it again.
        let log: MetadataLog
        init(_ log: MetadataLog) { self.log = log }
    }

    private let owned: Owned
    private let queue = Mutex(Queue())
    private let size: Mutex<Int>
    private let pool: NIOThreadPool
    private let eventLoop: any EventLoop

    /// Takes `log` over; the caller must not use it again.
    init(log: MetadataLog, eventLoop: any EventLoop) {
        owned = Owned(log)
        size = Mutex(log.byteSize)
        self.eventLoop = eventLoop
        pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
    }

    /// The log's size after the last batch.
    var byteSize: Int { size.withLock { $0 } }

    /// Whether the log has grown well past what the store holds (see `MetadataLog`).
    func needsCompaction(liveVersions: Int, liveBytes: Int) -> Bool {
        MetadataLog.needsCompaction(logBytes: byteSize, liveVersions: liveVersions, liveBytes: liveBytes)
    }

    /// A version merged from a peer: written with the next batch.
    func append(_ version: ContextMetadata) {
        submit(.remote(version))
    }

    /// A local write: `completion` runs on the event loop once it is durable, or failed.
    func write(_ version: ContextMetadata, completion: @escaping Completion) {
        submit(.local(version, completion))
    }

    /// Compacts the log from what it holds on disk; `completion` runs on the event loop.
    func compact(
        limits: MetadataLimits,
        completion: @escaping @Sendable (Result<(before: Int, after: Int), PersistenceError>) -> Void
    ) {
        submit(.compact(limits, completion))
    }

    /// Records the log's length in its mark; `completion` runs on the event loop.
    func mark(completion: @escaping @Sendable (PersistenceError?) -> Void) {
        submit(.mark(completion))
    }

    /// Replaces the identity file; `completion` runs on the event loop.
    func writeIdentity(
        _ identity: NodeIdentity, to file: DataDirectory.IdentityFile,
        completion: @escaping @Sendable (PersistenceError?) -> Void
    ) {
        submit(.identity(identity, file, completion))
    }

    /// Replaces the tags file; `completion` runs on the event loop.
    func writeTags(
        _ tags: MemberTags, to file: DataDirectory.TagsFile, completion: @escaping @Sendable (PersistenceError?) -> Void
    ) {
        submit(.tags(tags, file, completion))
    }

    /// Writes what is queued, then stops the thread. Blocks the caller until then: the
    /// node calls it once, when it stops.
    func close() {
        queue.withLock { $0.closed = true }
        // The pool's thread finishes the batches it was given (work queued at shutdown
        // still runs: `drain` ignores the cancelled state); what is left is written here,
        // on this thread, which is then the only one.
        try? pool.syncShutdownGracefully()
        queue.withLock { $0.draining = true }
        drain()
    }

    private func submit(_ job: Job) {
        let start = queue.withLock { queue -> Bool in
            queue.jobs.append(job)
            guard !queue.draining, !queue.closed else { return false }
            queue.draining = true
            return true
        }
        if start { pool.submit { _ in self.drain() } }
    }

    // Runs batches until the queue is empty: each takes every job queued so far.
    private func drain() {
        while true {
            let batch = queue.withLock { queue -> [Job] in
                let jobs = queue.jobs
                queue.jobs = []
                if jobs.isEmpty { queue.draining = false }
                return jobs
            }
            if batch.isEmpty { return }
            run(batch)
        }
    }

    private func run(_ batch: [Job]) {
        let log = owned.log
        var index = 0
        while index < batch.count {
            // A run of writes: one write and one sync for all of them.
            var locals: [ContextMetadata] = []
            var completions: [Completion] = []
            while index < batch.count {
                if case .remote(let version) = batch[index] {
                    log.append(version)
                } else if case .local(let version, let completion) = batch[index] {
                    locals.append(version)
                    completions.append(completion)
                } else {
                    break
                }
                index += 1
            }
            let written: Result<Void, PersistenceError>
            do {
                try log.writeDurably(locals)
                written = .success(())
            } catch {
                written = .failure(error)
            }
            publishSize(log)
            if !completions.isEmpty {
                eventLoop.execute { [completions] in
                    for completion in completions { completion(written) }
                }
            }
            guard index < batch.count else { break }
            switch batch[index] {
            case .compact(let limits, let completion):
                let result: Result<(before: Int, after: Int), PersistenceError>
                do {
                    result = .success(try log.compact(limits: limits))
                } catch {
                    result = .failure(error)
                }
                publishSize(log)
                eventLoop.execute { completion(result) }
            case .mark(let completion):
                var failure: PersistenceError?
                do { try log.updateMark() } catch { failure = error }
                eventLoop.execute { [failure] in completion(failure) }
            case .identity(let identity, let file, let completion):
                var failure: PersistenceError?
                do { try file.write(identity) } catch { failure = error }
                eventLoop.execute { [failure] in completion(failure) }
            case .tags(let tags, let file, let completion):
                var failure: PersistenceError?
                do { try file.write(tags) } catch { failure = error }
                eventLoop.execute { [failure] in completion(failure) }
            case .remote, .local:
                break
            }
            index += 1
        }
    }

    private func publishSize(_ log: MetadataLog) {
        let now = log.byteSize
        size.withLock { $0 = now }
    }
}
