import ArgumentParser

@main
struct ECSVPCDCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ecsvpcd")
}
