// Instance dialogs (admins): register (POST /instances), edit (PATCH), and the
// agent bundle (POST /instances/{id}/bundle) offered as downloads.
import {h, icon} from '../dom.js';
import {api} from '../api.js';
import {openDialog, field, showFieldError, busy} from '../dialog.js';

const NAME_RULE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

// Register a new instance, or edit `instance` (name, agent URL).
export function openInstanceDialog({instance = null, onSaved}) {
  const alert = h('div', {class: 'alert error', role: 'alert'});
  const name = h('input', {type: 'text', name: 'name', value: instance ? instance.name : '', required: true, maxlength: 63,
                           spellcheck: 'false', autocapitalize: 'none', placeholder: 'web-1'});
  const url = h('input', {type: 'url', name: 'agent_url', value: instance ? instance.agent_url : '', required: true,
                          spellcheck: 'false', autocapitalize: 'none', placeholder: 'https://web-1.internal:7443'});
  const submit = h('button', {type: 'submit', class: 'primary'}, instance ? 'Save' : 'Register instance');
  const cancel = h('button', {type: 'button'}, 'Cancel');
  const nameField = field('Name', name, {hint: 'Lowercase letters, digits and dashes; it becomes part of the agent certificate.'});
  const urlField = field('Agent URL', url, {hint: 'Where the controller reaches clawback-agent inside the container (https://host:port).'});
  const check = () => {
    const n = name.value.trim();
    const nameErr = n && !NAME_RULE.test(n) ? 'Use lowercase letters, digits and dashes (not at the start or end), at most 63.' : '';
    nameField.querySelector('.field-error').textContent = nameErr;
    let urlErr = '';
    const u = url.value.trim();
    if (u) {
      try {
        const parsed = new URL(u);
        if (parsed.protocol !== 'https:') urlErr = 'The agent URL must start with https://';
      } catch { urlErr = 'Not a URL, e.g. https://web-1.internal:7443'; }
    }
    urlField.querySelector('.field-error').textContent = urlErr;
    name.toggleAttribute('aria-invalid', Boolean(nameErr));
    url.toggleAttribute('aria-invalid', Boolean(urlErr));
    return nameErr || urlErr;
  };
  name.addEventListener('blur', check);
  url.addEventListener('blur', check);
  const {dialog, close} = openDialog({
    title: instance ? `Edit ${instance.name}` : 'Register instance',
    body: [alert, nameField, urlField,
      instance ? null : h('p', {class: 'small muted'}, 'After registering, download the agent bundle (certificate and key) and install it in the container.')],
    footer: [cancel, submit],
    onSubmit: () => {
      if (check()) return;
      if (!name.value.trim() || !url.value.trim()) { alert.textContent = 'Enter a name and the agent URL.'; return; }
      busy(submit, async () => {
        try {
          const body = {name: name.value.trim(), agent_url: url.value.trim()};
          const saved = instance ? await api.patch(`/instances/${instance.id}`, body) : await api.post('/instances', body);
          close();
          onSaved(saved);
        } catch (e) {
          showFieldError(dialog, alert, e);
        }
      }, 'Saving…');
    },
  });
  cancel.addEventListener('click', close);
}

function downloadText(filename, text, type = 'application/x-pem-file') {
  const blob = new Blob([text], {type});
  const href = URL.createObjectURL(blob);
  const a = h('a', {href, download: filename, hidden: true});
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10000);
}

// Issues a fresh agent bundle and offers its files for download.
export function openBundleDialog(instance) {
  const alert = h('div', {class: 'alert error', role: 'alert'});
  const issue = h('button', {type: 'submit', class: 'primary'}, icon('key'), 'Issue bundle');
  const cancel = h('button', {type: 'button'}, 'Close');
  const files = h('div', {hidden: true, 'data-testid': 'bundle-files'});
  const {dialog, close} = openDialog({
    title: `Agent bundle for ${instance.name}`,
    body: [alert,
      h('p', null, 'Issues a new certificate and private key for this instance\'s agent, signed by the controller\'s CA. ',
        'Install the files in the container (docs/operations.md, "Agent certificates"); the agent then answers only this controller.'),
      h('div', {class: 'alert warn', role: 'note'}, h('strong', null, 'agent.key is a secret. '),
        'It is shown only now and is not stored by the dashboard. Issue a new bundle if it is lost.'),
      files],
    footer: [cancel, issue],
    onSubmit: () => busy(issue, async () => {
      alert.textContent = '';
      try {
        const b = await api.post(`/instances/${instance.id}/bundle`);
        const base = instance.name;
        files.hidden = false;
        files.replaceChildren(
          h('h3', null, 'Download'),
          h('div', {class: 'inline wrap-row'},
            h('button', {type: 'button', onclick: () => downloadText('ca.crt', b.ca_crt)}, icon('download'), 'ca.crt'),
            h('button', {type: 'button', onclick: () => downloadText('agent.crt', b.agent_crt)}, icon('download'), 'agent.crt'),
            h('button', {type: 'button', onclick: () => downloadText('agent.key', b.agent_key)}, icon('download'), 'agent.key')),
          h('p', {class: 'small muted'}, 'Or everything in one file: ',
            h('button', {type: 'button', class: 'link', onclick: () => downloadText(`${base}-bundle.json`, JSON.stringify(b, null, 2), 'application/json')},
              `${base}-bundle.json`)));
        issue.hidden = true;
        files.querySelector('button').focus();
      } catch (e) {
        alert.textContent = e.message;
      }
    }, 'Issuing…'),
  });
  cancel.addEventListener('click', close);
  return dialog;
}
