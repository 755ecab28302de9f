/**
 * The read token the user pasted. sessionStorage: it lives as long as the tab, is not sent
 * anywhere by the browser on its own (unlike a cookie), and is gone when the tab closes.
 */
const kStorageKey = 'aggregator.readToken';
const listeners = new Set<(token: string) => void>();

export function readToken(): string {
  try {
    return sessionStorage.getItem(kStorageKey) ?? '';
  } catch {
    return ''; // storage disabled: the user pastes it again after a reload
  }
}

export function saveToken(token: string): void {
  try {
    if (token) sessionStorage.setItem(kStorageKey, token);
    else sessionStorage.removeItem(kStorageKey);
  } catch {
    // storage disabled: nothing to remember it in
  }
  for (const listener of listeners) listener(token);
}

export function onTokenChange(listener: (token: string) => void): void {
  listeners.add(listener);
}
