# sccm-cep-script: deployments
# sccm-cep: deployment summaries (type, intent, counters, dates); names of software and collections are not read.
# SMS_DeploymentSummary has one instance per deployment of every kind: applications (FeatureType 1),
# programs (2), software update groups (5), baselines (6), task sequences (7), ... One row per
# deployment: the counters are the provider's own summary, never per-client status rows.
# learn.microsoft.com/mem/configmgr/develop/reference/apps/sms_deploymentsummary-server-wmi-class
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$provider = @(Get-CimInstance -Namespace 'root\SMS' -ClassName 'SMS_ProviderLocation' |
    Where-Object { $_.ProviderForLocalSite })[0]
$ns = 'root\SMS\site_' + $provider.SiteCode
$query = 'SELECT AssignmentID, DeploymentID, FeatureType, DeploymentIntent, NumberTargeted, NumberSuccess, ' +
    'NumberErrors, NumberInProgress, NumberUnknown, CreationTime, EnforcementDeadline FROM SMS_DeploymentSummary'
$rows = foreach ($d in Get-CimInstance -Namespace $ns -Query $query) {
    $created = $null
    if ($d.CreationTime) { $created = $d.CreationTime.ToString('s') }
    [pscustomobject]@{
        AssignmentID     = $d.AssignmentID
        DeploymentID     = $d.DeploymentID
        FeatureType      = $d.FeatureType
        DeploymentIntent = $d.DeploymentIntent
        NumberTargeted   = $d.NumberTargeted
        NumberSuccess    = $d.NumberSuccess
        NumberErrors     = $d.NumberErrors
        NumberInProgress = $d.NumberInProgress
        NumberUnknown    = $d.NumberUnknown
        CreationTime     = $created
        HasDeadline      = ($null -ne $d.EnforcementDeadline)
    }
}
ConvertTo-Json -InputObject @($rows) -Depth 5 -Compress
