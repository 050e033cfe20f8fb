// Starts `govc lsp` for .gov files: diagnostics, hover, go to definition,
// completion, formatting and quick fixes come from the language server.
'use strict';
const vscode = require('vscode');
const {LanguageClient} = require('vscode-languageclient/node');

let client;

function activate(context) {
  const config = vscode.workspace.getConfiguration('gov');
  const env = {...process.env};
  if (config.get('stdlib')) env.GOV_STDLIB = config.get('stdlib');
  const server = {command: config.get('govcPath') || 'govc', args: ['lsp'], options: {env}};
  client = new LanguageClient('gov', 'Gov language server', {run: server, debug: server}, {
    documentSelector: [{scheme: 'file', language: 'gov'}, {scheme: 'untitled', language: 'gov'}],
  });
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = {activate, deactivate};
