import CSystemd
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// Why a call to systemd over D-Bus failed.
public struct SystemdError: Error, Sendable, CustomStringConvertible {
    /// The D-Bus error name when systemd answered with one (e.g. `org.freedesktop.systemd1.NoSuchUnit`).
    public var name: String?
    public var message: String
    /// True when there is no system bus at all (its socket does not exist: not running under systemd).
    public var busUnavailable: Bool

    public var description: String { message }
}

/// The systemd manager on the system bus, through libsystemd's sd-bus. sd-bus blocks, so every call runs on
/// NIO's blocking thread pool, never on the cooperative pool; each call opens and closes its own connection.
public struct SystemdManager: Sendable {
    public var callTimeout: Duration
    /// A D-Bus address (`unix:path=…`) to use instead of the system bus; nil, the default, is the system bus as
    /// `sd_bus_open_system` finds it (`DBUS_SYSTEM_BUS_ADDRESS`, else /run/dbus/system_bus_socket). For tests,
    /// which cannot change the process's environment while others run.
    public var busAddress: String?

    public init(callTimeout: Duration = .seconds(25), busAddress: String? = nil) {
        self.callTimeout = callTimeout
        self.busAddress = busAddress
    }

    /// Whether the unit exists and is active; never throws, the failure is part of the answer.
    public func unitState(_ unit: String) async -> AgentUnitState {
        do throws(SystemdError) {
            return try await blocking { (bus: SystemBus) throws(SystemdError) -> AgentUnitState in
                let path = try bus.callReturningString("LoadUnit", signature: "o", arguments: [unit])
                let load = try bus.property(path: path, "LoadState")
                if load == "not-found" { return .absent }
                let active = try bus.property(path: path, "ActiveState")
                return active == "active" ? .active : .notActive(active)
            }
        } catch {
            return error.busUnavailable ? .busUnavailable(error.message) : .unknown(error.message)
        }
    }

    /// `RestartUnit(unit, "replace")`; returns the job's object path (the job runs on after the call).
    public func restartUnit(_ unit: String) async throws(SystemdError) -> String {
        try await blocking { (bus: SystemBus) throws(SystemdError) -> String in try bus.callReturningString("RestartUnit", signature: "o", arguments: [unit, "replace"]) }
    }

    /// `StartUnit(unit, "replace")`; returns the job's object path.
    public func startUnit(_ unit: String) async throws(SystemdError) -> String {
        try await blocking { (bus: SystemBus) throws(SystemdError) -> String in try bus.callReturningString("StartUnit", signature: "o", arguments: [unit, "replace"]) }
    }

    private func blocking<T: Sendable>(_ body: @escaping @Sendable (SystemBus) throws(SystemdError) -> T) async throws(SystemdError) -> T {
        let busAddress = busAddress
        let usec = UInt64(callTimeout.components.seconds) * 1_000_000 + UInt64(callTimeout.components.attoseconds / 1_000_000_000_000)
        let result: Result<T, SystemdError>
        do {
            result = try await NIOThreadPool.singleton.runIfActive { () -> Result<T, SystemdError> in
                do throws(SystemdError) {
                    let bus = try SystemBus(address: busAddress, timeoutMicroseconds: usec)
                    defer { bus.close() }
                    return .success(try body(bus))
                } catch {
                    return .failure(error)
                }
            }
        } catch {
            throw SystemdError(name: nil, message: "cannot run the D-Bus call: \(error)", busUnavailable: false)
        }
        return try result.get()
    }
}

/// One blocking sd-bus connection, used on a single thread and closed after use.
private struct SystemBus {
    let bus: OpaquePointer
    let timeout: UInt64

    init(address: String?, timeoutMicroseconds: UInt64) throws(SystemdError) {
        var bus: OpaquePointer?
        var r: Int32
        let call: String
        if let address {
            call = "sd_bus_start(\(address))"
            r = sd_bus_new(&bus)
            if r >= 0, let opened = bus {
                r = sd_bus_set_address(opened, address)
                if r >= 0 { r = sd_bus_set_bus_client(opened, 1) }
                if r >= 0 { r = sd_bus_start(opened) }
                if r < 0 {
                    sd_bus_flush_close_unref(opened)
                    bus = nil
                }
            }
        } else {
            call = "sd_bus_open_system"
            r = sd_bus_open_system(&bus)
        }
        guard r >= 0, let bus else {
            throw SystemdError(
                name: nil, message: "no system bus: \(call): \(String(cString: strerror(-r)))",
                busUnavailable: r == -ENOENT
            )
        }
        self.bus = bus
        self.timeout = timeoutMicroseconds
    }

    func close() { sd_bus_flush_close_unref(bus) }

    /// Calls a method of `org.freedesktop.systemd1.Manager` with string arguments and reads one reply value.
    func callReturningString(_ method: String, signature: Character, arguments: [String]) throws(SystemdError) -> String {
        let reply = try call(
            path: "/org/freedesktop/systemd1", interface: "org.freedesktop.systemd1.Manager", method: method, arguments: arguments
        )
        defer { sd_bus_message_unref(reply) }
        return try readString(reply, type: signature, what: method)
    }

    /// A string property of `org.freedesktop.systemd1.Unit` at `path`, read out of its variant.
    func property(path: String, _ name: String) throws(SystemdError) -> String {
        let reply = try call(
            path: path, interface: "org.freedesktop.DBus.Properties", method: "Get",
            arguments: ["org.freedesktop.systemd1.Unit", name]
        )
        defer { sd_bus_message_unref(reply) }
        let entered = sd_bus_message_enter_container(reply, CChar(UInt8(ascii: "v")), "s")
        guard entered > 0 else {
            throw SystemdError(name: nil, message: "\(name): reply is not a string variant (\(errorText(entered)))", busUnavailable: false)
        }
        return try readString(reply, type: "s", what: name)
    }

    private func call(path: String, interface: String, method: String, arguments: [String]) throws(SystemdError) -> OpaquePointer {
        var message: OpaquePointer?
        var r = sd_bus_message_new_method_call(bus, &message, "org.freedesktop.systemd1", path, interface, method)
        guard r >= 0, let message else {
            throw SystemdError(name: nil, message: "\(method): cannot build the call: \(errorText(r))", busUnavailable: false)
        }
        defer { sd_bus_message_unref(message) }
        for argument in arguments {
            r = argument.withCString { sd_bus_message_append_basic(message, CChar(UInt8(ascii: "s")), $0) }
            guard r >= 0 else {
                throw SystemdError(name: nil, message: "\(method): cannot add \(argument): \(errorText(r))", busUnavailable: false)
            }
        }
        var error = sd_bus_error()
        defer { sd_bus_error_free(&error) }
        var reply: OpaquePointer?
        r = sd_bus_call(bus, message, timeout, &error, &reply)
        guard r >= 0, let reply else {
            let name = error.name.map { String(cString: $0) }
            let text = error.message.map { String(cString: $0) } ?? errorText(r)
            // Only a missing socket means there is no bus; a refused or denied connection is a bus that is
            // there but not answering now (dbus restarting): systemd may supervise the agent all the same.
            let connectionFailed = name == nil && r == -ENOENT
            throw SystemdError(name: name, message: "\(method) \(arguments.first ?? ""): \(text)", busUnavailable: connectionFailed)
        }
        return reply
    }

    private func readString(_ reply: OpaquePointer, type: Character, what: String) throws(SystemdError) -> String {
        var value: UnsafePointer<CChar>?
        let r = withUnsafeMutablePointer(to: &value) {
            sd_bus_message_read_basic(reply, CChar(bitPattern: type.asciiValue ?? UInt8(ascii: "s")), $0)
        }
        guard r > 0, let value else {
            throw SystemdError(name: nil, message: "\(what): unexpected reply (\(errorText(r)))", busUnavailable: false)
        }
        return String(cString: value)
    }

    private func errorText(_ r: Int32) -> String { r < 0 ? String(cString: strerror(-r)) : "code \(r)" }
}
