/*
 * Business rule "itsm-bridge: incident updated"
 *   Table: Incident [incident]   When: after   Insert: off   Update: on   Order: 1000   Advanced: on
 * An update that changes nothing is not saved, so it runs no rule and sends nothing.
 */
(function executeRule(current, previous /*null when async*/) {
    new ItsmBridgeWebhook().incident(current, 'update');
})(current, previous);
