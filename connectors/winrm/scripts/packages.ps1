# sccm-cep-script: packages
# sccm-cep: packages of every type (id, type, source date) with their program and deployment counts. Read-only.
# SMS_PackageBaseclass is the abstract base of all package classes; a query on it returns every kind
# (regular, driver, task sequence, software update, application content, OS image, boot image, OS
# upgrade). SMS_Package alone returns only regular packages.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$provider = @(Get-CimInstance -Namespace 'root\SMS' -ClassName 'SMS_ProviderLocation' |
    Where-Object { $_.ProviderForLocalSite })[0]
$ns = 'root\SMS\site_' + $provider.SiteCode
$programs = @{}
foreach ($p in Get-CimInstance -Namespace $ns -Query 'SELECT PackageID FROM SMS_Program') {
    $programs[$p.PackageID] = 1 + [int]$programs[$p.PackageID]
}
$adverts = @{}
foreach ($a in Get-CimInstance -Namespace $ns -Query 'SELECT PackageID FROM SMS_Advertisement') {
    $adverts[$a.PackageID] = 1 + [int]$adverts[$a.PackageID]
}
$query = 'SELECT PackageID, PackageType, SourceDate FROM SMS_PackageBaseclass'
$rows = foreach ($p in Get-CimInstance -Namespace $ns -Query $query) {
    $date = $null
    if ($p.SourceDate) { $date = $p.SourceDate.ToString('s') }
    [pscustomobject]@{
        PackageID       = $p.PackageID
        PackageType     = $p.PackageType
        SourceDate      = $date
        ProgramCount    = [int]$programs[$p.PackageID]
        DeploymentCount = [int]$adverts[$p.PackageID]
    }
}
ConvertTo-Json -InputObject @($rows) -Depth 5 -Compress
