"""Auditor reports: do the platforms tell the same story, and how fast are incidents handled?

One audit, in small steps that each do one job:

- `collect`: read every platform (read only) and the state store into one `View` per canonical
  key: each platform's copies, mapped to canonical incidents, and what the store links;
- `checks` and `links`: findings of categorization, priority, status drift, required fields
  and link health, as `AuditFinding`s of a fixed set of kinds (`findings.KINDS`);
- `metrics`: MTTA, MTTR, SLA compliance, recurrence and weekly volume from the canonical timeline;
- `render_json`, `render_csv`, `render_html`, `render_table`: the same `Report` in four formats.

`run.audit(config)` ties them together for `itsm-bridge audit`.
"""
