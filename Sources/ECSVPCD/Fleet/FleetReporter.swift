import ECSVPCCore
import FoundationEssentials
import Glibc
import Logging
import NIOPosix

/// Puts each cycle's answer where fleet operators already look: the Systems Manager Inventory item
/// `Custom:ECSVPCD` (on every change and at least hourly) and a Prometheus textfile for node_exporter (every
/// cycle), both replaced atomically.
///
/// The files are written on NIO's blocking thread, not on the event loop: a slow file system must not stall the
/// loop (the control socket, the timers). The daemon counts the write as part of its cycle for the watchdog, so a
/// write that hangs (a metrics path on a stuck network mount) ends in systemd restarting ecsvpcd. A directory
/// that cannot be written or a full disk is logged once, retried every cycle, and never stops the daemon.
struct FleetReporter {
    private(set) var inventoryRoot: SSMInventoryRoot
    private(set) var metricsFile: String?
    /// The SSM agent's data directory, which `auto` writes under where it exists (a test's directory in tests).
    let agentDataDirectory: String
    let logger: Logger
    private(set) var metrics = StatusMetrics()
    /// The inventory item last written and when (monotonic), to write it on a change and at least hourly.
    private var writtenInventory: (key: String, path: String, at: ContinuousClock.Instant)?
    private var inventoryProblems = RepeatSuppressor()
    private var metricsProblems = RepeatSuppressor()

    /// How often the inventory item is rewritten when nothing changed (an hour; shorter in tests): the SSM agent's
    /// inventory association runs every 30 minutes at the most, so an hour-old item still tells that the daemon runs.
    let inventoryRefresh: Duration

    init(
        settings: Settings, logger: Logger, agentDataDirectory: String = SSMInventoryRoot.agentDataDirectory,
        inventoryRefresh: Duration = .seconds(3600)
    ) {
        self.agentDataDirectory = agentDataDirectory
        self.inventoryRefresh = inventoryRefresh
        inventoryRoot = settings.ssmInventory
        metricsFile = settings.metricsFile
        self.logger = logger
    }

    /// After a reload: the new paths, with the counters and what was already logged kept.
    mutating func reconfigure(_ settings: Settings) {
        if settings.ssmInventory != inventoryRoot { writtenInventory = nil }
        inventoryRoot = settings.ssmInventory
        metricsFile = settings.metricsFile
    }

    /// The inventory file for this document, or nil: off, no instance id yet, or (`auto`) no SSM agent here.
    func inventoryPath(_ document: StatusDocument) -> (root: String, path: String)? {
        guard let instanceID = document.instance.id, !instanceID.isEmpty, !instanceID.contains("/") else { return nil }
        let root: String
        switch inventoryRoot {
        case .off: return nil
        case .directory(let directory): root = directory
        case .auto:
            guard Self.isDirectory(agentDataDirectory) else { return nil }
            root = agentDataDirectory
        }
        return (root, root + "/" + InventoryItem.relativePath(instanceID: instanceID))
    }

    mutating func report(_ document: StatusDocument, cycleSeconds: Double) async {
        metrics.observe(document, cycleSeconds: cycleSeconds)
        if let metricsFile { await writeMetrics(document, to: metricsFile) }
        await writeInventory(document)
    }

    private mutating func writeMetrics(_ document: StatusDocument, to path: String) async {
        let data = Data(metrics.render(document, version: ECSVPCDVersion.current).utf8)
        let directory = Self.directory(of: path)
        let failure = await Self.offLoop {
            // 0644: node_exporter runs as its own user.
            try AtomicFile.write(data, to: path, in: directory, mode: 0o644, durable: false)
        }
        if let failure {
            if metricsProblems.isNew(failure) {
                logger.warning(
                    "cannot write the metrics file, retrying every cycle: \(failure)",
                    metadata: ["path": "\(path)", "reason": "\(failure)"]
                )
            }
        } else if metricsProblems.isNew(nil) {
            logger.notice("metrics file written again", metadata: ["path": "\(path)"])
        }
    }

    private mutating func writeInventory(_ document: StatusDocument) async {
        guard let (root, path) = inventoryPath(document) else { return }
        let item = InventoryItem(document, version: ECSVPCDVersion.current)
        let key = item.stateKey
        if let written = writtenInventory, written.key == key, written.path == path,
            ContinuousClock.now - written.at < inventoryRefresh
        {
            return
        }
        let failure: String?
        do {
            let data = try item.json()
            let directory = Self.directory(of: path)
            failure = await Self.offLoop {
                // The custom directory is the SSM agent's; under `auto` only its data directory must exist.
                guard Self.isDirectory(root) else {
                    throw StateError(detail: "\(root) does not exist or is not a directory")
                }
                try AtomicFile.write(data, to: path, in: directory, durable: false)
            }
        } catch {
            failure = "\(error)"
        }
        if let failure {
            if inventoryProblems.isNew(failure) {
                logger.warning(
                    "cannot write the SSM Inventory item, retrying every cycle: \(failure)",
                    metadata: ["path": "\(path)", "reason": "\(failure)"]
                )
            }
            return
        }
        if inventoryProblems.isNew(nil) {
            logger.notice("SSM Inventory item written again", metadata: ["path": "\(path)"])
        }
        writtenInventory = (key, path, ContinuousClock.now)
    }

    /// Runs `body` on NIO's blocking thread; the failure's text, or nil.
    private static func offLoop(_ body: @escaping @Sendable () throws -> Void) async -> String? {
        do {
            try await NIOThreadPool.singleton.runIfActive(body)
            return nil
        } catch {
            return "\(error)"
        }
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
    }
}
