# sccm-cep: size of the site (discovered, managed, active, virtual systems), counted on the provider.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$provider = @(Get-CimInstance -Namespace 'root\SMS' -ClassName 'SMS_ProviderLocation' |
    Where-Object { $_.ProviderForLocalSite })[0]
$ns = 'root\SMS\site_' + $provider.SiteCode
$query = 'SELECT Client, Obsolete, Decommissioned, Active, IsVirtualMachine FROM SMS_R_System'
$discovered = 0; $managed = 0; $active = 0; $virtual = 0
foreach ($s in Get-CimInstance -Namespace $ns -Query $query) {
    if ($s.Decommissioned -eq 1) { continue }
    $discovered++
    if ($s.Client -ne 1 -or $s.Obsolete -eq 1) { continue }
    $managed++
    if ($s.Active -eq 1) { $active++ }
    if ($s.IsVirtualMachine -eq 'True' -or $s.IsVirtualMachine -eq 1) { $virtual++ }
}
$totals = [pscustomobject]@{ Discovered = $discovered; Managed = $managed; Active = $active; Virtual = $virtual }
ConvertTo-Json -InputObject @($totals) -Depth 5 -Compress
