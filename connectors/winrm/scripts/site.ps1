# sccm-cep-script: site
# sccm-cep: the site rows of the SMS Provider (site code, type, version, build, status). Read-only.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$provider = @(Get-CimInstance -Namespace 'root\SMS' -ClassName 'SMS_ProviderLocation' |
    Where-Object { $_.ProviderForLocalSite })[0]
$ns = 'root\SMS\site_' + $provider.SiteCode
$rows = Get-CimInstance -Namespace $ns -ClassName 'SMS_Site' |
    Microsoft.PowerShell.Utility\Select-Object -Property 'SiteCode', 'ReportingSiteCode', 'Type', 'Version', 'BuildNumber', 'Status'
ConvertTo-Json -InputObject @($rows) -Depth 5 -Compress
