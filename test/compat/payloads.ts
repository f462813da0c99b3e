// Real payloads of Governify's clients (COMPAT.md, "Real payloads"), as test fixtures.
// Running tasks whose `end` has passed are deleted at once (COMPAT 22), so the running ones get an end
// in the future here; `pastEnd` keeps the original dates for the tests of that rule.

const FUTURE_END = '2099-08-10T09:00:00.000Z';

export const originalPayloads = {
  adminUiCreate: { id: '12345', running: '', init: '2025-05-01T10:00:00.000Z', interval: 5000, end: '2025-08-24T00:00:00.000Z', script: 'http://bluejay-assets-manager/api/v1/public/director/check-status.js', configuration: { k: 1 } },
  tpaRenderActivation: { id: 'tpa-showcase-GH-governify_bluejay-showcase', script: 'https://assets.bluejay.governify.io/api/v1/public/director/showcase.js', running: true, config: { agreementId: 'tpa-showcase-GH-governify_bluejay-showcase' }, init: '2023-02-09T00:00:00', end: '2023-07-18T23:59:59', interval: 7200000 },
  commonsBootstrap: { id: 'get_services_status', script: 'http://bluejay-assets-manager/api/v1/public/director/check-status.js', running: false, config: {}, init: '2023-02-09T00:00:00', interval: 10000000000, end: '2023-07-18T23:59:59' },
  tpaManagerCalculation: { id: 'tpaCalculation-showcase-showcase-GH-governify_bluejay-showcase', script: 'http://bluejay-assets-manager/api/v1/public/director/tasks/system/requestTpaReport/script.js', running: true, config: { agreementId: 'tpa-showcase-GH-governify_bluejay-showcase' }, tags: { simple: ['tpaCalculation', 'createdByTpaManager'], keyValue: { type: 'tpaCalculation', courseId: 'showcase', projectId: 'showcase-GH-governify_bluejay-showcase' } }, code: 0, message: 'message', init: '2025-01-10T09:00:00.000Z', end: '2025-08-10T09:00:00.000Z', interval: 3600000 },
  tpaManagerEmail: { running: true, config: { courseId: 'showcase', projectId: 'showcase-GH-governify_bluejay-showcase', forAdmin: false }, init: 1736500000000, end: '2026-01-10T09:00:00.000Z', interval: 86400, code: 0, message: 'message', tags: { simple: ['email', 'createdByTpaManager'] }, id: 'email-showcase-GH-governify_bluejay-showcase', script: 'http://bluejay-assets-manager/api/v1/public/director/tasks/system/tpaComplianceNotifications/script.js' },
  commonsTest: { scriptText: "governify = require('governify-commons'); module.exports = { main: async function() { return {ok: true} } };", scriptConfig: { agreementId: 123127 } },
  stringConfigTest: { scriptText: 'module.exports.main = (c) => c', scriptConfig: '{"a":1}' },
} as const;

export const payloads = {
  ...originalPayloads,
  tpaRenderActivation: { ...originalPayloads.tpaRenderActivation, end: FUTURE_END },
  tpaManagerCalculation: { ...originalPayloads.tpaManagerCalculation, end: FUTURE_END },
  tpaManagerEmail: { ...originalPayloads.tpaManagerEmail, end: FUTURE_END },
};
