# sccm-cep-script: baselines
# sccm-cep: configuration baselines with rule, target and compliance counts; names are not read.
# One row per baseline whatever the number of clients: the counts come from the provider's own
# per-baseline summary (SMS_ConfigurationBaselineInfo: AssignedCount, ActivatedCount,
# ComplianceCount, NonComplianceCount, FailureCount), so no per-client compliance row is read.
# learn.microsoft.com/mem/configmgr/develop/reference/compliance/sms_configurationbaselineinfo-server-wmi-class
# AssignedCount counts targeted computers once, whatever the number of deployments reaching them.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$provider = @(Get-CimInstance -Namespace 'root\SMS' -ClassName 'SMS_ProviderLocation' |
    Where-Object { $_.ProviderForLocalSite })[0]
$ns = 'root\SMS\site_' + $provider.SiteCode
$rules = @{}
# Rules of a baseline: the items it requires, prohibits or optionally includes (RelationType 2, 3, 4).
# One row per relation between configuration items: bounded by the site's items, not its clients.
$query = 'SELECT FromCIID, ToCIID, RelationType FROM SMS_CIRelation'
foreach ($r in Get-CimInstance -Namespace $ns -Query $query) {
    if (@(2, 3, 4) -notcontains $r.RelationType) { continue }
    if (-not $rules.ContainsKey($r.FromCIID)) { $rules[$r.FromCIID] = @{} }
    $rules[$r.FromCIID][$r.ToCIID] = 1
}
$query = 'SELECT CI_ID, CIType_ID, IsUserDefined, DateCreated, AssignedCount, ActivatedCount, ' +
    'ComplianceCount, NonComplianceCount, FailureCount FROM SMS_ConfigurationBaselineInfo WHERE IsLatest = 1'
$rows = foreach ($b in Get-CimInstance -Namespace $ns -Query $query) {
    $count = 0
    if ($rules.ContainsKey($b.CI_ID)) { $count = $rules[$b.CI_ID].Count }
    $created = $null
    if ($b.DateCreated) { $created = $b.DateCreated.ToString('s') }
    [pscustomobject]@{
        CI_ID         = $b.CI_ID
        CIType_ID     = $b.CIType_ID
        IsUserDefined = $b.IsUserDefined
        DateCreated   = $created
        RuleCount     = $count
        Targeted      = [int]$b.AssignedCount
        Evaluated     = [int]$b.ActivatedCount
        Compliant     = [int]$b.ComplianceCount
        NonCompliant  = [int]$b.NonComplianceCount
        Failed        = [int]$b.FailureCount
    }
}
ConvertTo-Json -InputObject @($rows) -Depth 5 -Compress
