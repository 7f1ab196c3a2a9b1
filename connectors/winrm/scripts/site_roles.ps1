# sccm-cep-script: site_roles
# sccm-cep: how many servers hold each site-system role, counted here so no server name leaves the host.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$provider = @(Get-CimInstance -Namespace 'root\SMS' -ClassName 'SMS_ProviderLocation' |
    Where-Object { $_.ProviderForLocalSite })[0]
$ns = 'root\SMS\site_' + $provider.SiteCode
$rows = Get-CimInstance -Namespace $ns -ClassName 'SMS_SystemResourceList' |
    Group-Object -Property 'RoleName' |
    ForEach-Object {
        [pscustomobject]@{
            RoleName    = $_.Name
            ServerCount = @($_.Group | ForEach-Object { $_.ServerName } | Sort-Object -Unique).Count
        }
    }
ConvertTo-Json -InputObject @($rows) -Depth 5 -Compress
