# sccm-cep-script: client_software
# sccm-cep: installed programs from both registry Uninstall views (not the MSI WMI class); name, publisher, version.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$views = @(
    'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\*',
    'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\*'
)
$rows = foreach ($view in $views) {
    if (-not (Test-Path -Path $view)) { continue }
    Get-ItemProperty -Path $view -ErrorAction 'SilentlyContinue' |
        Where-Object { $_.DisplayName } |
        Microsoft.PowerShell.Utility\Select-Object -Property 'DisplayName', 'Publisher', 'DisplayVersion'
}
ConvertTo-Json -InputObject @($rows) -Depth 5 -Compress
