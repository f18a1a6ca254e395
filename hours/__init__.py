"""Working hours: operators' and callbacks' schedules, Russian public holidays, overrides."""
