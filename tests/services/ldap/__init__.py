"""AD discovery against a throwaway OpenLDAP slapd that carries the ConfigMgr schema extension."""
