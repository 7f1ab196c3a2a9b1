# sccm-cep-script: provider
# sccm-cep: where the SMS Provider of this site runs (SMS_ProviderLocation), and whether that is this host.
# The site scripts read root\SMS\site_<code> here, so they need the provider on the host WinRM reaches.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$cs = Get-CimInstance -ClassName 'Win32_ComputerSystem' |
    Microsoft.PowerShell.Utility\Select-Object -First 1 -Property 'Name', 'Domain'
$names = @($cs.Name, ($cs.Name + '.' + $cs.Domain))
$rows = foreach ($p in Get-CimInstance -Namespace 'root\SMS' -ClassName 'SMS_ProviderLocation') {
    if (-not $p.ProviderForLocalSite) { continue }
    [pscustomobject]@{
        SiteCode      = $p.SiteCode
        Machine       = $p.Machine
        NamespacePath = $p.NamespacePath
        IsLocal       = ($names -contains $p.Machine)
    }
}
ConvertTo-Json -InputObject @($rows) -Depth 5 -Compress
