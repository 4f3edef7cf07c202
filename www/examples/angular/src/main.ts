// ZivaCare Connect in an Angular app (standalone, zoneless): the
// <zivacare-connect-button> custom element, with Angular's own bindings and
// event syntax, and the popup opened with connect() from a click. Built with
// Angular's own build (`ng build`) from the npm package.
import { Component, CUSTOM_ELEMENTS_SCHEMA, provideZonelessChangeDetection, signal } from "@angular/core";
import { bootstrapApplication } from "@angular/platform-browser";
import { connect, defineCustomElement, type ZivaConnectError, type ZivaConnectResponse } from "@zivacare/connect";

defineCustomElement();

interface AppConfig {
  clientId: string;
  connectUrl: string;
  serverUrl: string;
}

const USER = "angular@example.com";

@Component({
  selector: "app-root",
  schemas: [CUSTOM_ELEMENTS_SCHEMA],
  template: `
    <main>
      <h1>ZivaCare Connect with Angular</h1>
      @if (config(); as c) {
        @if (shown()) {
          <zivacare-connect-button
            [attr.client-id]="c.clientId"
            [attr.client-user-id]="user"
            [attr.connect-url]="c.connectUrl"
            [attr.server-url]="c.serverUrl"
            (zivacare-finish)="finished($event)"
            (zivacare-error)="failed($event)"
            (zivacare-close)="status.set('Cancelled.')"
          ></zivacare-connect-button>
        }
        <button type="button" (click)="shown.set(false)">Remove the button</button>
        <button type="button" [disabled]="busy()" (click)="open(c)">{{ busy() ? "Connecting…" : "Connect with connect()" }}</button>
      } @else {
        <p>Loading…</p>
      }
      <p role="status">{{ status() }}</p>
    </main>
  `,
})
class App {
  readonly user = USER;
  readonly config = signal<AppConfig | null>(null);
  readonly status = signal("Not connected yet.");
  readonly shown = signal(true);
  readonly busy = signal(false);

  constructor() {
    fetch("/api/zivacare/config").then((r) => r.json()).then((c: AppConfig) => this.config.set(c));
  }

  finished(event: Event) {
    const response = (event as CustomEvent<ZivaConnectResponse>).detail;
    this.status.set("Connected: " + (response.serverResponse as { zivaUserCode: string }).zivaUserCode);
  }

  failed(event: Event) {
    this.status.set("Error: " + (event as CustomEvent<ZivaConnectError>).detail.code);
  }

  /** The popup opens now, inside the click; the outcome comes later. */
  open(c: AppConfig) {
    this.busy.set(true);
    connect({ clientId: c.clientId, clientUserId: USER, connectUrl: c.connectUrl, serverUrl: c.serverUrl }).then(
      (response) => this.status.set("Connected: " + (response.serverResponse as { zivaUserCode: string }).zivaUserCode),
      (err: ZivaConnectError) => this.status.set(err.code === "popup_closed" ? "Cancelled." : "Error: " + err.code),
    ).finally(() => this.busy.set(false));
  }
}

bootstrapApplication(App, { providers: [provideZonelessChangeDetection()] }).catch((e) => console.error(e));
