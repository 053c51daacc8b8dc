/*
 * Business rule "itsm-bridge: incident note added"
 *   Table: Journal Entry [sys_journal_field]   When: after   Insert: on   Order: 1000   Advanced: on
 *   Condition (script): current.name == 'incident' && (current.element == 'comments' || current.element == 'work_notes')
 * A note added on the incident form also updates the incident, so serve gets both hints; it
 * collapses them into one job for the incident.
 */
(function executeRule(current, previous /*null when async*/) {
    new ItsmBridgeWebhook().journal(current);
})(current, previous);
