"""jersey-edge: temporal jersey-number recognition from training to the edge.

Importing the package must stay cheap and torch-free: the runtime is embedded on devices
where torch is not installed.
"""

__version__ = "0.1.0"
