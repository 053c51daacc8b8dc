/*
 * Script Include "ItsmBridgeWebhook" (System Definition > Script Includes; Application: Global,
 * Accessible from: This application scope only, Client callable: off).
 *
 * Posts one signed hint to `itsm-bridge serve` (POST /webhooks/servicenow), in exactly the shape
 * serve verifies:
 *   X-Bridge-Timestamp: <unix seconds>
 *   X-Bridge-Delivery:  <gs.generateGUID()>
 *   X-Bridge-Signature: sha256=<base64 HMAC-SHA256(secret, "<timestamp>.<raw body>")>
 *   body: {"table": "incident", "sys_id", "number", "operation", "sys_updated_on"}
 *      or {"table": "sys_journal_field", "sys_id", "element_id", "element", "operation": "insert"}
 * The payload is only a hint: serve reads the incident back through the Table API before it
 * writes anything, so the body carries ids and no field values.
 *
 * APIs used (ServiceNow API reference):
 * - GlideCertificateEncryption.generateMac(key, "HmacSHA256", data): the key must be base64
 *   encoded, the MAC is returned in base64.
 *   https://www.servicenow.com/docs/r/api-reference/server-api-reference/c_GlideCertificateEncryptionAPI.html
 *   (in a scoped application: CertificateEncryption, same method).
 * - sn_ws.RESTMessageV2(name, method), setRequestHeader, setRequestBody,
 *   disableForcedVariableSubstitution (so "${" in a body is never rewritten after signing),
 *   executeAsync (the transaction does not wait for serve's answer).
 *   https://www.servicenow.com/docs/r/api-reference/server-api-reference/c_RESTMessageV2API.html
 */
var ItsmBridgeWebhook = Class.create();
ItsmBridgeWebhook.prototype = {
    REST_MESSAGE: 'itsm-bridge webhook', // System Web Services > Outbound > REST Message
    HTTP_METHOD: 'post', // its HTTP method record
    SECRET_PROPERTY: 'itsm_bridge.webhook.secret', // sys_properties, type password2, private

    initialize: function() {},

    /** After insert / after update on incident: `operation` is 'insert' or 'update'. */
    incident: function(current, operation) {
        this.send({
            table: 'incident',
            sys_id: current.getUniqueValue(),
            number: current.getValue('number'),
            operation: operation,
            sys_updated_on: current.getValue('sys_updated_on') // internal UTC format
        });
    },

    /** After insert on sys_journal_field, for comments and work notes of incidents. */
    journal: function(current) {
        this.send({
            table: 'sys_journal_field',
            sys_id: current.getUniqueValue(),
            element_id: current.getValue('element_id'),
            element: current.getValue('element'),
            operation: 'insert'
        });
    },

    send: function(payload) {
        var secret = gs.getProperty(this.SECRET_PROPERTY, '');
        if (!secret) {
            // never send unsigned: serve answers 401 and the next sweep picks the change up
            gs.error('itsm-bridge webhook: system property ' + this.SECRET_PROPERTY + ' is empty; nothing sent');
            return;
        }
        var body = JSON.stringify(payload); // the exact bytes signed are the bytes sent
        var timestamp = String(Math.floor(new GlideDateTime().getNumericValue() / 1000));
        var mac = new GlideCertificateEncryption().generateMac(
            GlideStringUtil.base64Encode(secret), 'HmacSHA256', timestamp + '.' + body);
        var request = new sn_ws.RESTMessageV2(this.REST_MESSAGE, this.HTTP_METHOD);
        request.disableForcedVariableSubstitution();
        request.setRequestHeader('Content-Type', 'application/json');
        request.setRequestHeader('X-Bridge-Timestamp', timestamp);
        request.setRequestHeader('X-Bridge-Delivery', gs.generateGUID());
        request.setRequestHeader('X-Bridge-Signature', 'sha256=' + mac);
        request.setRequestBody(body);
        request.executeAsync();
    },

    type: 'ItsmBridgeWebhook'
};
