"""Pure data of the service domain: enums, contracts, the SLA policy and calendar arithmetic.

Nothing here does I/O, reads the clock or imports heavy libraries, so workflow code may use it;
the one exception is `policy_loader`, which reads the policy file and resolves holidays, and
is used only by the API, the worker and activities, never by workflows.
"""
