"""The collector host: state store, sites, participation, cadence, runner, schedule, doctor."""
