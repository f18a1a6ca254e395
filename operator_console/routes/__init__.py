"""The console's HTTP routes: one module and one router per resource."""
