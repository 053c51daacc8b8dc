"""The Jira Cloud and Jira Service Management imitation: the REST v3 platform (`api`) with its
create and search routes (`create`, `search`), fields and workflow (`schema`), issues (`store`),
their JSON views (`views`), JQL (`jql`), issue and comment properties (`issue_properties`) and the
Service Desk API (`servicedesk`)."""
