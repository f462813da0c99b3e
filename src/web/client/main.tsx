// Entry of the dashboard bundle (scripts/build-web.mjs; styles.css is its second entry): the app into #app.

import { render } from 'preact';
import { App } from './app.js';

render(<App />, document.getElementById('app')!);
