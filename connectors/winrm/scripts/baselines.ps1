# sccm-cep: configuration baselines with rule, target and per-state compliance counts; names are not read.
# One row per baseline whatever the number of clients: compliance rows are read one baseline at a
# time and only counted here. Targeted is the largest NumberTargeted among a baseline's deployments
# (FeatureType 6): deployments to overlapping collections are not added up.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$provider = @(Get-CimInstance -Namespace 'root\SMS' -ClassName 'SMS_ProviderLocation' |
    Where-Object { $_.ProviderForLocalSite })[0]
$ns = 'root\SMS\site_' + $provider.SiteCode
$rules = @{}
# Rules of a baseline: the items it requires, prohibits or optionally includes (RelationType 2, 3, 4).
foreach ($r in Get-CimInstance -Namespace $ns -Query 'SELECT FromCIID, ToCIID, RelationType FROM SMS_CIRelation') {
    if (@(2, 3, 4) -notcontains $r.RelationType) { continue }
    if (-not $rules.ContainsKey($r.FromCIID)) { $rules[$r.FromCIID] = @{} }
    $rules[$r.FromCIID][$r.ToCIID] = 1
}
$targets = @{}
$query = 'SELECT CI_ID, NumberTargeted FROM SMS_DeploymentSummary WHERE FeatureType = 6'
foreach ($d in Get-CimInstance -Namespace $ns -Query $query) {
    if ([int]$d.NumberTargeted -gt [int]$targets[$d.CI_ID]) { $targets[$d.CI_ID] = [int]$d.NumberTargeted }
}
$query = 'SELECT CI_ID, CIType_ID, IsUserDefined, DateCreated FROM SMS_ConfigurationBaselineInfo WHERE IsLatest = 1'
$rows = foreach ($b in Get-CimInstance -Namespace $ns -Query $query) {
    $count = 0
    if ($rules.ContainsKey($b.CI_ID)) { $count = $rules[$b.CI_ID].Count }
    $targeted = 0
    if ($targets.ContainsKey($b.CI_ID)) { $targeted = $targets[$b.CI_ID] }
    $byState = @{}
    $stateQuery = 'SELECT ComplianceState FROM SMS_G_System_CI_ComplianceState WHERE CI_ID = ' + $b.CI_ID
    foreach ($s in Get-CimInstance -Namespace $ns -Query $stateQuery) {
        $key = [string]$s.ComplianceState
        $byState[$key] = 1 + [int]$byState[$key]
    }
    $created = $null
    if ($b.DateCreated) { $created = $b.DateCreated.ToString('s') }
    [pscustomobject]@{
        CI_ID         = $b.CI_ID
        CIType_ID     = $b.CIType_ID
        IsUserDefined = $b.IsUserDefined
        DateCreated   = $created
        RuleCount     = $count
        Targeted      = $targeted
        States        = $byState
    }
}
ConvertTo-Json -InputObject @($rows) -Depth 5 -Compress
