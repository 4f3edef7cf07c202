// ZivaCare Connect in a Svelte 5 app, through the <zivacare-connect-button>
// custom element (the same element serves Angular and plain HTML).
import { mount } from "svelte";
import { defineCustomElement } from "@zivacare/connect";
import App from "./App.svelte";

defineCustomElement();
mount(App, { target: document.getElementById("app") });
