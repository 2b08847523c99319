"""Drawing and widgets: plots, tables, and the Explorer that wires sliders to a figure."""
