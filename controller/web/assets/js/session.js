// The signed-in user (from POST /auth/login or GET /auth/me) and what they may do.
// The server enforces every rule; these only decide what the UI offers.
import {api, setCsrfToken} from './api.js';

let current = null;  // User or null

export const session = {
  get user() { return current; },
  get isAdmin() { return Boolean(current && current.role === 'admin'); },
  // Restore needs admin, or can_create_instances (plus access to both
  // instances, which the instance lists already reflect).
  get canRestore() { return Boolean(current && (current.role === 'admin' || current.can_create_instances)); },
  restoreDeniedReason: 'Restoring needs the "Can create instances" permission. Ask an admin to grant it.',

  set(data) {
    current = data ? data.user : null;
    setCsrfToken(data ? data.csrf_token : '');
  },

  // Loads the session from the cookie; false when not signed in.
  async load() {
    try {
      this.set(await api.get('/auth/me', null, {quiet401: true}));
      return true;
    } catch (e) {
      if (e.status === 401) { this.set(null); return false; }
      throw e;
    }
  },
};
