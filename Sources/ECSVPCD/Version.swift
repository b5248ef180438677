/// The release version, also stamped into the packages.
public enum ECSVPCDVersion {
    public static let current = "0.1.0"
}
