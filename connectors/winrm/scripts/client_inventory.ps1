# sccm-cep-script: client_inventory
# sccm-cep: one managed client's SCCM client id and version, OS and hardware; no name, user or serial is read.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$client = Get-CimInstance -Namespace 'root\ccm' -ClassName 'SMS_Client' | Microsoft.PowerShell.Utility\Select-Object -First 1
$ccm = Get-CimInstance -Namespace 'root\ccm' -ClassName 'CCM_Client' | Microsoft.PowerShell.Utility\Select-Object -First 1 -Property 'ClientId'
$os = Get-CimInstance -ClassName 'Win32_OperatingSystem' |
    Microsoft.PowerShell.Utility\Select-Object -Property 'Caption', 'Version', 'OSArchitecture', 'ProductType'
$cs = Get-CimInstance -ClassName 'Win32_ComputerSystem' |
    Microsoft.PowerShell.Utility\Select-Object -Property 'Manufacturer', 'Model', 'TotalPhysicalMemory'
$cpus = Get-CimInstance -ClassName 'Win32_Processor' |
    Microsoft.PowerShell.Utility\Select-Object -Property 'Name', 'NumberOfCores', 'NumberOfLogicalProcessors'
$disk = Get-CimInstance -ClassName 'Win32_LogicalDisk' -Filter "DeviceID = 'C:' AND DriveType = 3" |
    Microsoft.PowerShell.Utility\Select-Object -Property 'Size', 'FreeSpace'
$enclosures = Get-CimInstance -ClassName 'Win32_SystemEnclosure' | Microsoft.PowerShell.Utility\Select-Object -Property 'ChassisTypes'
$bios = foreach ($b in Get-CimInstance -ClassName 'Win32_BIOS') {
    $date = $null
    if ($b.ReleaseDate) { $date = $b.ReleaseDate.ToString('s') }
    [pscustomobject]@{ ReleaseDate = $date }
}
$inventory = [pscustomobject]@{
    ClientId        = $ccm.ClientId
    ClientVersion   = $client.ClientVersion
    OperatingSystem = @($os)
    ComputerSystem  = @($cs)
    Processors      = @($cpus)
    SystemDisk      = @($disk)
    Enclosures      = @($enclosures)
    Bios            = @($bios)
}
ConvertTo-Json -InputObject @($inventory) -Depth 5 -Compress
