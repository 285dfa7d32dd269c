// Hive/Mesh compose over psgraph's PSA (Kantata-like) and CRM (Salesforce-like) sandboxes.
// The sandboxes' own /openapi.json carries no parameters and no response schemas, so each
// source is described by a hand-written OpenAPI 3.0 subset (SPEC_DIR/<name>.openapi.json);
// requests go to the sandbox's base URL with the vendor's auth header.
//   PSA_URL, CRM_URL, PSA_TOKEN, CRM_TOKEN (a Salesforce session id from /services/oauth2/token)
//   LINKS_FILE  the @resolveTo link (links.graphql)
import { readFileSync } from 'node:fs';
import { defineConfig } from '@graphql-mesh/compose-cli';
import { loadOpenAPISubgraph } from '@omnigraph/openapi';

const SPEC_DIR = process.env.SPEC_DIR || '.';
const PSA_URL = process.env.PSA_URL || 'http://127.0.0.1:9302';
const CRM_URL = process.env.CRM_URL || 'http://127.0.0.1:9301';
const links = readFileSync(process.env.LINKS_FILE || `${SPEC_DIR}/links.graphql`, 'utf8');

export const composeConfig = defineConfig({
  subgraphs: [
    {
      sourceHandler: loadOpenAPISubgraph('psa', {
        source: `${SPEC_DIR}/psa.openapi.json`,
        endpoint: PSA_URL,
        operationHeaders: { Authorization: `Bearer ${process.env.PSA_TOKEN}` },
      }),
    },
    {
      sourceHandler: loadOpenAPISubgraph('crm', {
        source: `${SPEC_DIR}/crm.openapi.json`,
        endpoint: CRM_URL,
        operationHeaders: { Authorization: `Bearer ${process.env.CRM_TOKEN}` },
      }),
    },
  ],
  additionalTypeDefs: links,
});
