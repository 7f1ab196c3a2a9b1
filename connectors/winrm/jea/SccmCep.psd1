@{
    # sccm-cep: module manifest that lets JEA find RoleCapabilities\SccmCep.psrc. It exports nothing.
    # Copy this file and the RoleCapabilities folder to
    # C:\Program Files\WindowsPowerShell\Modules\SccmCep\ (a folder on $Env:PSModulePath).
    ModuleVersion = '1.0.0'
    GUID = '782e78e1-6def-4408-80a9-eb4b13966fa6'
    Author = 'sccm-cep'
    Description = 'Role capability for the sccm-cep JEA endpoint'
    PowerShellVersion = '5.1'
    FunctionsToExport = @()
    CmdletsToExport = @()
    VariablesToExport = @()
    AliasesToExport = @()
}
