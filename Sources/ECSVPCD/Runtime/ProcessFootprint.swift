import CProcessMemory
import ECSVPCCore
import Glibc

/// This process's memory now: the C heap in use and the anonymous and resident figures the kernel reports.
///
/// The heap figure is exact and moves only with what the process holds; the smaps figures are what an operator
/// sees with `ps` or `smem`.
enum ProcessFootprint {
    /// Bytes of the C heap in use now (mallinfo2, every arena): a few microseconds.
    static func heapInUse() -> Int { Int(ecsvpcd_heap_in_use()) }

    static func measure(cycles: Int, smapsRollup: String = "/proc/self/smaps_rollup") -> StatusDocument.Process {
        var anonymous: Int?
        var rss: Int?
        if let text = try? SystemFile.readText(smapsRollup) {
            for line in text.split(separator: "\n") {
                let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                guard fields.count >= 2 else { continue }
                switch fields[0] {
                case "Anonymous:": anonymous = Int(fields[1])
                case "Rss:": rss = Int(fields[1])
                default: continue
                }
            }
        }
        return StatusDocument.Process(
            pid: getpid(), cycles: cycles, heapInUseBytes: Int(ecsvpcd_heap_in_use()), anonymousKiB: anonymous,
            rssKiB: rss
        )
    }
}
