/*
 * Business rule "itsm-bridge: incident inserted"
 *   Table: Incident [incident]   When: after   Insert: on   Update: off   Order: 1000   Advanced: on
 * One rule per operation, so the script never depends on current.operation() in an after rule.
 */
(function executeRule(current, previous /*null when async*/) {
    new ItsmBridgeWebhook().incident(current, 'insert');
})(current, previous);
