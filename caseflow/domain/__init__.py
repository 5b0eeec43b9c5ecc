"""Pure data of the service domain: enums, contracts, the SLA policy and calendar arithmetic.

Nothing here does I/O, reads the clock or imports heavy libraries, so workflow code may use it.
"""
