"""From stored rows to an analysis panel: who took part by each wave, dose, baseline/follow-up pairs."""
