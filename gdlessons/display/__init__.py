"""Drawing and widgets: pictures of runs, landscapes and range tests, tables, figure sizes, and
the Explorer that wires sliders to a figure (with its redraw and its frames for the site)."""
