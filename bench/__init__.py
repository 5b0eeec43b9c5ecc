"""Benchmarks of caseflow, side by side with a model of the cron-polling help desks
(docs/performance.md). Part of the repository, not of the installed package."""
