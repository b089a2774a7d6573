"""What the dashboards draw: page models and plotly figures, built from the report tables."""
