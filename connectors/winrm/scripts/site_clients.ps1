# sccm-cep-script: site_clients
# sccm-cep: size of the site (discovered, managed, active, virtual systems), counted on the provider.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$provider = @(Get-CimInstance -Namespace 'root\SMS' -ClassName 'SMS_ProviderLocation' |
    Where-Object { $_.ProviderForLocalSite })[0]
$ns = 'root\SMS\site_' + $provider.SiteCode
# Four flags per system are streamed through the pipeline and only counted here: memory stays flat
# and the output is one row, however many systems the site has. (Extended WQL documents COUNT, but
# not the shape of its result over CIM, so counting stays on this side of the provider.)
# learn.microsoft.com/mem/configmgr/develop/core/understand/extended-wmi-query-language
$query = 'SELECT Client, Obsolete, Decommissioned, Active, IsVirtualMachine FROM SMS_R_System'
$discovered = 0; $managed = 0; $active = 0; $virtual = 0
Get-CimInstance -Namespace $ns -Query $query | ForEach-Object {
    if ($_.Decommissioned -ne 1) { $discovered++ }
    if ($_.Decommissioned -ne 1 -and $_.Client -eq 1 -and $_.Obsolete -ne 1) {
        $managed++
        if ($_.Active -eq 1) { $active++ }
        if ($_.IsVirtualMachine -eq 'True' -or $_.IsVirtualMachine -eq 1) { $virtual++ }
    }
}
$totals = [pscustomobject]@{ Discovered = $discovered; Managed = $managed; Active = $active; Virtual = $virtual }
ConvertTo-Json -InputObject @($totals) -Depth 5 -Compress
