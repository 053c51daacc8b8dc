"""The ServiceNow imitation: the Table API (`api`), its tables and choices (`schema`), rows and
incident rules (`store`), encoded queries (`encoded_query`), and what the integration user may
see (`user`)."""
